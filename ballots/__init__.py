"""The pure domain core: rule sets, tally, canonical ballots, signatures, logs, records.

Nothing here imports Flask, SQLAlchemy or voting/; the offline verifier needs only this
package, cryptography and rfc8785.
"""
