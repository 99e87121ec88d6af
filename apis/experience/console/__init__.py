"""The operations console at ``/console``: server-rendered pages over the gateway's own APIs.

Operators sign in with an operations client; the token stays server-side in a session
(:mod:`.sessions`, :mod:`.auth`), and every page is built from versioned API calls made in
process as that client (:mod:`.upstream`), so governance applies to the console as to any
caller. Pages: overview (charts), transactions and their lineage, exceptions with repairs,
reconciliation, API catalogue (:mod:`.pages`, :mod:`.actions`).
"""
