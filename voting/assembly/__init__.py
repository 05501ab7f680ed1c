"""The delegate's phone: enrolment by QR, check-in, and (later) voting."""
