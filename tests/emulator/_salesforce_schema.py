"""The emulated org's objects and fields, with the describe metadata Salesforce sends.

Each object lists its fields as Salesforce describes them (type, calculated, compound parent,
relationship, filterable...). The emulator stores every object as a typed polars frame whose
dtypes follow these types; describe answers come from the same table, so a hidden field
(field-level security) is absent from both the describe and what a query may name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

__all__ = ["OBJECTS", "FieldMeta", "ObjectMeta", "dtype_of"]

_DTYPES: dict[str, pl.DataType] = {
    "boolean": pl.Boolean(),
    "int": pl.Int64(),
    "double": pl.Float64(),
    "currency": pl.Float64(),
    "percent": pl.Float64(),
    "date": pl.Date(),
    "datetime": pl.Datetime("ms", "UTC"),
}
_SOAP = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "anyType": "xsd:anyType",
    "address": "urn:address",
    "location": "urn:location",
}


def dtype_of(sf_type: str) -> pl.DataType:
    return _DTYPES.get(sf_type, pl.String())


@dataclass(frozen=True)
class FieldMeta:
    name: str
    type: str = "string"
    calculated: bool = False
    custom: bool = False
    filterable: bool = True
    nillable: bool = True
    compound: str | None = None
    relationship: str | None = None
    reference_to: tuple[str, ...] = ()
    picklist: tuple[str, ...] = ()

    @property
    def stored(self) -> bool:
        """Compound fields are not stored: they are built from their components."""
        return self.type not in ("address", "location")

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.name.replace("__c", "").replace("_", " "),
            "type": self.type,
            "soapType": _SOAP.get(self.type, "xsd:string"),
            "length": 255 if self.type in ("string", "picklist", "textarea") else 0,
            "nillable": self.nillable,
            "calculated": self.calculated,
            "custom": self.custom,
            "filterable": self.filterable,
            "sortable": self.filterable,
            "updateable": not self.calculated and self.name != "Id",
            "createable": not self.calculated and self.name != "Id",
            "compoundFieldName": self.compound,
            "relationshipName": self.relationship,
            "referenceTo": list(self.reference_to),
            "picklistValues": [
                {"active": True, "defaultValue": i == 0, "label": v, "validFor": None, "value": v}
                for i, v in enumerate(self.picklist)
            ],
        }


@dataclass(frozen=True)
class ObjectMeta:
    name: str
    key_prefix: str
    fields: tuple[FieldMeta, ...]
    bulk: bool = True
    custom: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def field(self, name: str) -> FieldMeta | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


def _f(name: str, type_: str = "string", **kw: Any) -> FieldMeta:
    return FieldMeta(name, type_, **kw)


def _ref(name: str, *to: str, rel: str | None = None) -> FieldMeta:
    return FieldMeta(name, "reference", relationship=rel, reference_to=to)


_AUDIT = (
    _f("CreatedDate", "datetime"),
    _ref("CreatedById", "User", rel="CreatedBy"),
    _f("LastModifiedDate", "datetime"),
    _f("SystemModstamp", "datetime"),
)
_DELETED = (_f("IsDeleted", "boolean", nillable=False),)


def _address(prefix: str, compound: str) -> tuple[FieldMeta, ...]:
    parts = ("Street", "City", "State", "PostalCode", "Country")
    out = [_f(f"{prefix}{p}", compound=compound) for p in parts]
    out += [
        _f(f"{prefix}Latitude", "double", compound=compound),
        _f(f"{prefix}Longitude", "double", compound=compound),
    ]
    return (*out, _f(compound, "address"))


LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)
STAGES = (
    # ApiName, label, probability, closed, won
    ("Prospecting", "Prospecting", 10, False, False),
    ("Qualification", "Qualification", 20, False, False),
    ("Needs Analysis", "Needs Analysis", 25, False, False),
    ("Proposal/Price Quote", "Proposal", 75, False, False),
    ("Negotiation/Review", "Negotiation", 90, False, False),
    ("Closed Won", "Closed Won", 100, True, True),
    ("Closed Lost", "Closed Lost", 0, True, False),
)

OBJECTS: dict[str, ObjectMeta] = {
    o.name: o
    for o in (
        ObjectMeta(
            "UserRole",
            "00E",
            (_f("Id", "id", nillable=False), _f("Name"), _f("SystemModstamp", "datetime")),
        ),
        ObjectMeta(
            "User",
            "005",
            (
                _f("Id", "id", nillable=False),
                _f("Name"),
                _f("Email", "email"),
                _f("Department"),
                _ref("UserRoleId", "UserRole", rel="UserRole"),
                _ref("ManagerId", "User", rel="Manager"),
                _f("IsActive", "boolean"),
                _f("TimeZoneSidKey", "picklist"),
                *_AUDIT,
            ),
        ),
        ObjectMeta(
            "Account",
            "001",
            (
                _f("Id", "id", nillable=False),
                _f("Name"),
                _f("Website", "url"),
                _f("Industry", "picklist"),
                _f("NumberOfEmployees", "int"),
                _f("AnnualRevenue", "currency"),
                *_address("Billing", "BillingAddress"),
                _ref("OwnerId", "User", rel="Owner"),
                _ref("ParentId", "Account", rel="Parent"),
                *_AUDIT,
                *_DELETED,
            ),
        ),
        ObjectMeta(
            "Lead",
            "00Q",
            (
                _f("Id", "id", nillable=False),
                _f("FirstName"),
                _f("LastName"),
                _f("Email", "email"),
                _f("Phone", "phone"),
                _f("Title"),
                _f("Company"),
                _f("Status", "picklist", nillable=False, picklist=LEAD_STATUSES),
                _ref("OwnerId", "Group", "User", rel="Owner"),
                _f("LeadSource", "picklist"),
                *_address("", "Address"),
                _f("Industry", "picklist"),
                _f("NumberOfEmployees", "int"),
                _f("IsConverted", "boolean"),
                _f("ConvertedDate", "date"),
                _ref("ConvertedOpportunityId", "Opportunity", rel="ConvertedOpportunity"),
                _ref("ConvertedAccountId", "Account", rel="ConvertedAccount"),
                _ref("ConvertedContactId", "Contact", rel="ConvertedContact"),
                _f("Region__c", custom=True),
                _f("Employee_Band__c", custom=True),
                _f("Fit_Grade__c", calculated=True, custom=True),
                _f("Lead_Score__c", "double", custom=True),
                *_AUDIT,
                *_DELETED,
            ),
        ),
        ObjectMeta(
            "Contact",
            "003",
            (
                _f("Id", "id", nillable=False),
                _f("FirstName"),
                _f("LastName"),
                _f("Email", "email"),
                _f("Phone", "phone"),
                _f("Title"),
                _ref("AccountId", "Account", rel="Account"),
                _ref("OwnerId", "User", rel="Owner"),
                _f("LeadSource", "picklist"),
                *_address("Mailing", "MailingAddress"),
                *_AUDIT,
                *_DELETED,
            ),
        ),
        ObjectMeta(
            "Opportunity",
            "006",
            (
                _f("Id", "id", nillable=False),
                _f("Name"),
                _ref("AccountId", "Account", rel="Account"),
                _f("StageName", "picklist", nillable=False, picklist=tuple(s[0] for s in STAGES)),
                _f("Amount", "currency"),
                _f("CloseDate", "date"),
                _f("IsClosed", "boolean"),
                _f("IsWon", "boolean"),
                _ref("OwnerId", "User", rel="Owner"),
                _f("Type", "picklist"),
                _f("LeadSource", "picklist"),
                _ref("CampaignId", "Campaign", rel="Campaign"),
                _f("Probability", "percent"),
                _f("ExpectedRevenue", "currency", calculated=True),
                _f("LastStageChangeDate", "datetime"),
                _f("Days_Open__c", "double", calculated=True, custom=True),
                *_AUDIT,
                *_DELETED,
            ),
        ),
        ObjectMeta(
            "OpportunityHistory",
            "008",
            (
                _f("Id", "id", nillable=False),
                _ref("OpportunityId", "Opportunity", rel="Opportunity"),
                _f("StageName", "picklist"),
                _f("Amount", "currency"),
                _f("CloseDate", "date"),
                _f("Probability", "percent"),
                _f("CreatedDate", "datetime"),
                _ref("CreatedById", "User", rel="CreatedBy"),
                _f("SystemModstamp", "datetime"),
                *_DELETED,
            ),
        ),
        ObjectMeta(
            "OpportunityFieldHistory",
            "017",
            (
                _f("Id", "id", nillable=False),
                _ref("OpportunityId", "Opportunity", rel="Opportunity"),
                _f("Field", "picklist"),
                _f("DataType", "picklist"),
                _f("OldValue", "anyType"),
                _f("NewValue", "anyType"),
                _f("CreatedDate", "datetime"),
                _ref("CreatedById", "User", rel="CreatedBy"),
                *_DELETED,
            ),
        ),
        ObjectMeta(
            "LeadHistory",
            "017",
            (
                _f("Id", "id", nillable=False),
                _ref("LeadId", "Lead", rel="Lead"),
                _f("Field", "picklist"),
                _f("DataType", "picklist"),
                _f("OldValue", "anyType"),
                _f("NewValue", "anyType"),
                _f("CreatedDate", "datetime"),
                _ref("CreatedById", "User", rel="CreatedBy"),
                *_DELETED,
            ),
        ),
        ObjectMeta(
            "Task",
            "00T",
            (
                _f("Id", "id", nillable=False),
                _ref("WhoId", "Contact", "Lead", rel="Who"),
                _ref("WhatId", "Account", "Opportunity", rel="What"),
                _ref("AccountId", "Account", rel="Account"),
                _ref("OwnerId", "User", rel="Owner"),
                _f("Subject"),
                _f("Status", "picklist"),
                _f("TaskSubtype", "picklist"),
                _f("CallDisposition"),
                _f("ActivityDate", "date"),
                _f("CompletedDateTime", "datetime"),
                *_AUDIT,
                *_DELETED,
            ),
        ),
        ObjectMeta(
            "Event",
            "00U",
            (
                _f("Id", "id", nillable=False),
                _ref("WhoId", "Contact", "Lead", rel="Who"),
                _ref("WhatId", "Account", "Opportunity", rel="What"),
                _ref("AccountId", "Account", rel="Account"),
                _ref("OwnerId", "User", rel="Owner"),
                _f("Subject"),
                _f("StartDateTime", "datetime"),
                _f("ActivityDateTime", "datetime"),
                *_AUDIT,
                *_DELETED,
            ),
        ),
        ObjectMeta(
            "Campaign",
            "701",
            (
                _f("Id", "id", nillable=False),
                _f("Name"),
                _f("Type", "picklist"),
                _f("ActualCost", "currency"),
                _f("StartDate", "date"),
                _f("EndDate", "date"),
                _ref("OwnerId", "User", rel="Owner"),
                *_AUDIT,
                *_DELETED,
            ),
        ),
        ObjectMeta(
            "CampaignMember",
            "00v",
            (
                _f("Id", "id", nillable=False),
                _ref("CampaignId", "Campaign", rel="Campaign"),
                _ref("LeadId", "Lead", rel="Lead"),
                _ref("ContactId", "Contact", rel="Contact"),
                _ref("LeadOrContactId", "Contact", "Lead", rel="LeadOrContact"),
                _f("Status", "picklist"),
                *_AUDIT,
                *_DELETED,
            ),
        ),
        ObjectMeta(
            "Deal__c",
            "a01",
            (
                _f("Id", "id", nillable=False),
                _f("Name"),
                _f("Stage__c", "picklist", custom=True, picklist=tuple(s[0] for s in STAGES)),
                _f("Amount__c", "currency", custom=True),
                FieldMeta(
                    "Account__c",
                    "reference",
                    custom=True,
                    relationship="Account__r",
                    reference_to=("Account",),
                ),
                *_AUDIT,
                *_DELETED,
            ),
            custom=True,
        ),
        ObjectMeta(
            "OpportunityStage",
            "01J",
            (
                _f("Id", "id", nillable=False),
                _f("ApiName"),
                _f("MasterLabel"),
                _f("SortOrder", "int"),
                _f("DefaultProbability", "percent"),
                _f("IsClosed", "boolean"),
                _f("IsWon", "boolean"),
                _f("IsActive", "boolean"),
                _f("ForecastCategoryName", "picklist"),
                *_AUDIT,
            ),
            bulk=False,
        ),
    )
}
