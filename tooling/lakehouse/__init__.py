"""Local operator tooling of the smartwatch lakehouse: the ``lakehouse`` command, the dbt runner,
the docs site, the demo, queries and a local Kafka broker. It works on a clone of the repository
(the dbt project lives there) and drives the ingester (``ingestion``) and the simulator."""
