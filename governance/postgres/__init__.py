"""Django's PostgreSQL backend, told about outages (governance.database_health)."""
