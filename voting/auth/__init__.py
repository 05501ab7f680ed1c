"""Signing in: staff by password; delegates by their enrolled device key."""
