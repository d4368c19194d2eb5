"""Realtime ad report: the socket-to-Kafka bridge (``bridge``, ``sender``), the event model
(``events``) and the report's arithmetic (``report``)."""
