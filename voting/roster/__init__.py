"""The Secretariat's roster pages: members, delegates, EXCOM seats, meetings, CSV and the audit log."""
