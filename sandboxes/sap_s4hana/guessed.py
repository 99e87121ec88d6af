"""Services the sandbox serves without SAP's ``$metadata`` in the collection: GUESSED shapes.

Each is described here in the same model as a parsed EDMX (:mod:`.edmx`) and its ``$metadata`` is
generated from that description. The property names follow SAP's API Business Hub documentation
as far as known; what could not be checked against a published file is GUESSED:

* ``API_PRODUCT_SRV`` — ``A_Product`` (+ ``to_Description`` → ``A_ProductDescription``,
  ``to_Valuation`` → ``A_ProductValuation``); read only here. Valuation at company-code level
  (``ValuationArea`` = company code) carries ``StandardPrice`` per ``PriceUnitQty``.
* ``API_CREDIT_MEMO_REQUEST_SRV`` — ``A_CreditMemoRequest`` deep insert with ``to_Item`` (and
  ``to_PricingElement`` per item), as ``A_SalesOrder`` is; the billing run bills it as a credit memo.
* ``YY1_POSTINGPERIOD_CDS`` — ``YY1_PostingPeriod``: SAP releases no OData API for posting period
  status; a key user exposes one as a custom CDS view over the fiscal calendar and the posting
  period variant (a custom communication scenario). Its shape is ours.
"""

from __future__ import annotations

from functools import cache
from xml.sax.saxutils import quoteattr

from sandboxes.sap_s4hana.edmx import EntitySet, Nav, Prop, Service

S, D, DT, B = "Edm.String", "Edm.Decimal", "Edm.DateTime", "Edm.Boolean"


def _set(service: str, name: str, keys: tuple[str, ...], props: list[tuple[str, str, int | None, bool]],
         navs: tuple[Nav, ...] = (), *, writable: bool = False) -> EntitySet:  # fmt: skip
    return EntitySet(
        service, name, f"{name}Type", keys,
        {n: Prop(n, t, m, c, c) for n, t, m, c in props}, {n.name: n for n in navs},
        writable, writable, False,
    )  # fmt: skip


def _product() -> list[EntitySet]:
    svc = "API_PRODUCT_SRV"
    return [
        _set(svc, "A_Product", ("Product",), [
            ("Product", S, 40, True), ("ProductType", S, 4, True), ("BaseUnit", S, 3, True),
            ("ProductGroup", S, 9, True), ("IsMarkedForDeletion", B, None, True), ("LastChangeDate", DT, None, False),
        ], (Nav("to_Description", "A_ProductDescription", True), Nav("to_Valuation", "A_ProductValuation", True))),
        _set(svc, "A_ProductDescription", ("Product", "Language"), [
            ("Product", S, 40, True), ("Language", S, 2, True), ("ProductDescription", S, 40, True)]),
        _set(svc, "A_ProductValuation", ("Product", "ValuationArea", "ValuationType"), [
            ("Product", S, 40, True), ("ValuationArea", S, 4, True), ("ValuationType", S, 10, True),
            ("StandardPrice", D, None, True), ("PriceUnitQty", D, None, True), ("Currency", S, 5, True)]),
    ]  # fmt: skip


def _credit_memo_request() -> list[EntitySet]:
    svc = "API_CREDIT_MEMO_REQUEST_SRV"
    return [
        _set(svc, "A_CreditMemoRequest", ("CreditMemoRequest",), [
            ("CreditMemoRequest", S, 10, False), ("CreditMemoRequestType", S, 4, True),
            ("SalesOrganization", S, 4, True), ("DistributionChannel", S, 2, True),
            ("OrganizationDivision", S, 2, True), ("SoldToParty", S, 10, True),
            ("PurchaseOrderByCustomer", S, 35, True), ("CreditMemoRequestDate", DT, None, True),
            ("TransactionCurrency", S, 5, True), ("SDDocumentReason", S, 3, True), ("ReferenceSDDocument", S, 10, True),
            ("HeaderBillingBlockReason", S, 2, True), ("TotalNetAmount", D, None, False),
            ("OverallSDProcessStatus", S, 1, False),
        ], (Nav("to_Item", "A_CreditMemoRequestItem", True),), writable=True),
        _set(svc, "A_CreditMemoRequestItem", ("CreditMemoRequest", "CreditMemoRequestItem"), [
            ("CreditMemoRequest", S, 10, False), ("CreditMemoRequestItem", S, 6, True), ("Material", S, 40, True),
            ("CreditMemoRequestItemText", S, 40, True), ("RequestedQuantity", D, None, True),
            ("RequestedQuantityUnit", S, 3, True), ("NetAmount", D, None, False), ("TransactionCurrency", S, 5, False),
        ], (Nav("to_PricingElement", "A_CreditMemoReqItemPrcgElmnt", True),), writable=True),
        _set(svc, "A_CreditMemoReqItemPrcgElmnt",
             ("CreditMemoRequest", "CreditMemoRequestItem", "PricingProcedureStep", "PricingProcedureCounter"), [
            ("CreditMemoRequest", S, 10, False), ("CreditMemoRequestItem", S, 6, False),
            ("PricingProcedureStep", S, 3, False), ("PricingProcedureCounter", S, 3, False),
            ("ConditionType", S, 4, True), ("ConditionRateValue", D, None, True), ("ConditionCurrency", S, 5, True),
        ], writable=True),
    ]  # fmt: skip


def _posting_period() -> list[EntitySet]:
    svc = "YY1_POSTINGPERIOD_CDS"
    return [
        _set(svc, "YY1_PostingPeriod", ("CompanyCode", "FiscalYear", "FiscalPeriod"), [
            ("CompanyCode", S, 4, False), ("FiscalYear", S, 4, False), ("FiscalPeriod", S, 3, False),
            ("FiscalPeriodStartDate", DT, None, False), ("FiscalPeriodEndDate", DT, None, False),
            ("PostingPeriodIsOpen", B, None, False)]),
    ]  # fmt: skip


def _edmx(name: str, sets: list[EntitySet]) -> bytes:
    """A ``$metadata`` document (OData V2) for ``sets``."""
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           '<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" '
           'xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" '
           'xmlns:sap="http://www.sap.com/Protocols/SAPData">',
           '<edmx:DataServices m:DataServiceVersion="2.0">',
           f'<Schema Namespace="{name}" xml:lang="en" sap:schema-version="1" '
           'xmlns="http://schemas.microsoft.com/ado/2008/09/edm">']  # fmt: skip
    associations = []
    for entity in sets:
        out.append(f'<EntityType Name="{entity.type_name}" sap:content-version="1"><Key>')
        out.extend(f'<PropertyRef Name="{key}"/>' for key in entity.keys)
        out.append("</Key>")
        for prop in entity.props.values():
            length = f' MaxLength="{prop.max_length}"' if prop.max_length else ""
            precision = ' Precision="15" Scale="3"' if prop.type == D else ""
            display = ' Precision="0" sap:display-format="Date"' if prop.type == DT else ""
            nullable = ' Nullable="false"' if prop.name in entity.keys else ""
            flags = "" if prop.creatable else ' sap:creatable="false" sap:updatable="false"'
            out.append(
                f'<Property Name="{prop.name}" Type="{prop.type}"{nullable}{length}{precision}{display}{flags}/>'
            )
        for nav in entity.navs.values():
            assoc = f"assoc_{entity.name}_{nav.name}"
            associations.append((assoc, entity.type_name, f"{nav.target}Type", nav.many))
            out.append(f'<NavigationProperty Name="{nav.name}" Relationship="{name}.{assoc}" '
                       f'FromRole="FromRole_{assoc}" ToRole="ToRole_{assoc}"/>')  # fmt: skip
        out.append("</EntityType>")
    for assoc, source, target, many in associations:
        out.append(f'<Association Name="{assoc}" sap:content-version="1">'
                   f'<End Type="{name}.{source}" Multiplicity="1" Role="FromRole_{assoc}"/>'
                   f'<End Type="{name}.{target}" Multiplicity="{"*" if many else "0..1"}" Role="ToRole_{assoc}"/>'
                   "</Association>")  # fmt: skip
    out.append(f'<EntityContainer Name="{name}_Entities" m:IsDefaultEntityContainer="true">')
    for entity in sets:
        flags = "" if entity.creatable else ' sap:creatable="false" sap:updatable="false"'
        out.append(f'<EntitySet Name="{entity.name}" EntityType={quoteattr(name + "." + entity.type_name)} '
                   f'sap:deletable="false"{flags} sap:content-version="1"/>')  # fmt: skip
    for assoc, source, target, _many in associations:
        source_set, target_set = source.removesuffix("Type"), target.removesuffix("Type")
        out.append(f'<AssociationSet Name="{assoc}_set" Association="{name}.{assoc}" sap:content-version="1">'
                   f'<End EntitySet="{source_set}" Role="FromRole_{assoc}"/>'
                   f'<End EntitySet="{target_set}" Role="ToRole_{assoc}"/></AssociationSet>')  # fmt: skip
    out.append("</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>")
    return "\n".join(out).encode()


@cache
def guessed(name: str) -> Service:
    """The GUESSED service ``name``."""
    sets = {"API_PRODUCT_SRV": _product, "API_CREDIT_MEMO_REQUEST_SRV": _credit_memo_request,
            "YY1_POSTINGPERIOD_CDS": _posting_period}[name]()  # fmt: skip
    return Service(name, name, {s.name: s for s in sets}, {}, _edmx(name, sets))


GUESSED = ("API_PRODUCT_SRV", "API_CREDIT_MEMO_REQUEST_SRV", "YY1_POSTINGPERIOD_CDS")
