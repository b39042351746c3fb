"""Scenarios: the schema of every key (with defaults and meanings), loading YAML files with
inheritance and overrides, cross-reference checks, and the generated reference docs.

The bottom layer: it imports nothing else from the package."""
