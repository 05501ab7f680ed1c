"""Enrolment badges and key status for the Secretariat: the `voting badges` command and the pages
that print, show, e-mail and re-issue delegates' enrolment QR codes (issue 4)."""
