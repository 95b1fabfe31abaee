"""Smartwatch lakehouse ingestion."""
