"""Resolutions by written consent: the Secretariat's pages, the delegates' links and answer page."""
