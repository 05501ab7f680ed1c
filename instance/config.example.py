# Copy to instance/config.py and adjust. Every key is documented in voting/config.py.
# DATABASE_URL = "postgresql+psycopg://voting@127.0.0.1/voting"
# PUBLIC_BASE_URL = "https://vote.we-gov.org"
# MAIL_HOST = "smtp.example.org"
# MAIL_PORT = 587
# MAIL_USE_TLS = True
