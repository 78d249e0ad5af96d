"""Reusable workbench widgets."""
