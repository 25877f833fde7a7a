"""Lint's Prometheus rules: a user's PrometheusRule files against the alerts hcplb renders."""
