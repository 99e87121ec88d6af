"""NetSuite preflight: a token is obtained, REST web services and SuiteQL answer, and the
subsidiaries and accounting periods the connector reads are readable by the integration role.
"""

from __future__ import annotations

import msgspec

from apis.system.erp.connectors.netsuite import build_netsuite_connector
from apis.system.erp.connectors.netsuite_http import NetSuiteCredentials
from apis.system.erp.settings import NetSuiteSettings
from apis.system.kit.link import VendorLink
from apis.system.kit.preflight import Check, Checks

VENDOR = "netsuite"
ENABLE_REST = (
    "enable REST Web Services (Setup → Company → Enable Features → SuiteCloud) and give the integration "
    "role the permissions 'REST Web Services' and 'Log in using OAuth 2.0 Access Tokens'"
)


async def netsuite_preflight(link: VendorLink[NetSuiteCredentials], settings: NetSuiteSettings) -> list[Check]:
    """Check the NetSuite account ``link`` reaches against what the connector needs."""
    # No retries: a preflight reports what the vendor answers now, at once.
    connector = build_netsuite_connector(link, msgspec.structs.replace(settings, max_retries=0))
    checks = Checks(VENDOR)
    async with checks.step(
        "credentials",
        "register the certificate of STRATA_NETSUITE_PRIVATE_KEY on the integration record's OAuth 2.0 client "
        "credentials mapping (Setup → Integration → OAuth 2.0 Client Credentials) and set "
        "STRATA_NETSUITE_CLIENT_ID and STRATA_NETSUITE_CERTIFICATE_ID to its consumer key and certificate id",
    ):
        # The connector offers no public token call (and the ERP connectors are not changed here):
        # the token cache is asked directly, which is exactly the first step of any call.
        await connector._tokens.current()
        checks.passed("credentials", f"a token was obtained (client credentials, {link.credentials.algorithm})")
    if not checks.ok:
        return checks.results
    checks.passed("api_version", "REST record API v1 and SuiteQL (query v1) at /services/rest")
    entities = None
    async with checks.step("suiteql", f"{ENABLE_REST}, and 'SuiteAnalytics Workbook' for SuiteQL"):
        entities = await connector.list_legal_entities()
        checks.passed("suiteql", "SuiteQL answers (POST /services/rest/query/v1/suiteql)")
    if entities is not None:
        checks.check(
            "subsidiaries",
            bool(entities),
            f"{len(entities)} active subsidiaries readable" + (f" ({entities[0].name}, …)" if entities else ""),
            "give the integration role access to the subsidiaries we sell from (role → Subsidiary Restrictions)",
        )
    if entities:
        async with checks.step("rest_records", ENABLE_REST):
            await connector.get_record("subsidiary", entities[0].id, expand=False)
            checks.passed("rest_records", f"REST records answer (GET /record/v1/subsidiary/{entities[0].id})")
    async with checks.step(
        "periods", "give the integration role the 'Accounting Periods' permission (View) and SuiteQL access"
    ):
        periods = await connector.list_accounting_periods()
        checks.check(
            "periods",
            bool(periods),
            f"{len(periods)} monthly accounting periods readable",
            "set up accounting periods (Setup → Accounting → Manage Accounting Periods)",
        )
    return checks.results
