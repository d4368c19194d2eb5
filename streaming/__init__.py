"""Realtime ad report: the socket-to-Kafka bridge (``bridge``) and its sender protocol."""
