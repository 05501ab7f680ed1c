"""The chair's and the desk's pages: the roll of members present, the venue check-in code."""
