"""The daily extraction of every registered segment (issue 4): plan, Spark job, Airflow task."""
