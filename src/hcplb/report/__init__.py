"""Self-contained HTML reports (verify, bench failover)."""
