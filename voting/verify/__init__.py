"""Public results: certified results per meeting, printable certificates, the election record."""
