"""AIPX Phase 0 runbook library."""
