"""The vendor connector kit: what every system API connector is built from, written once.

* :mod:`.connector` — :class:`~.connector.VendorConnector`, the base: deadline, retries,
  breaker, errors marked with the connector's ``system``, lenient decoding;
* :mod:`.link` — :class:`~.link.VendorLink`, how the composition root hands a connector its
  client, base URL, credentials and breaker (connectors never choose sandbox or network);
* :mod:`.tokens` — the client-credentials token cache and grant (Authlib client authentication);
* :mod:`.decoding` — lenient JSON decoding with required-field checks;
* :mod:`.vendor_http` — deadlines, the retry loop (tenacity, :mod:`core.backoff`'s formula,
  ``Retry-After``), the 429/5xx mapping;
* :mod:`.circuit_breaker` — one breaker per vendor and process.
"""
