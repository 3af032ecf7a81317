"""CRM export layouts ``revgov init`` recognises: which file is which entity, in whose words.

A layout is a vendor's file and column naming: Salesforce data exports name files by object
(``Opportunity.csv``) and columns by API field (``StageName``); HubSpot exports name columns by
property label (``Deal Stage``, ``Record ID``) and date a deal's stages in columns
``Date entered "<stage> (<pipeline>)"``. Anything else is a generic export, matched by column
names close to the canonical ones. The Salesforce field names are the Salesforce connector's
own default mapping (:data:`revgov.connectors.salesforce.defaults.DEFAULT_ENTITIES`), so an
export and a live org map the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from revgov.connectors.salesforce.defaults import DEFAULT_ENTITIES

__all__ = [
    "GENERIC_SYNONYMS",
    "HUBSPOT_COLUMNS",
    "HUBSPOT_DATE_ENTERED",
    "SALESFORCE_HISTORY",
    "SALESFORCE_OBJECTS",
    "ExportFile",
    "salesforce_columns",
]


@dataclass
class ExportFile:
    """One file of an export: its name, header and (a sample of) its rows as text."""

    name: str
    header: list[str]
    #: Distinct values of some columns (stage, status), read for value maps.
    values: dict[str, list[str]] = field(default_factory=dict)


#: Salesforce object (file stem) to the canonical entity it makes.
SALESFORCE_OBJECTS = {
    "User": "users",
    "Account": "accounts",
    "Lead": "people",
    "Contact": "people",
    "Opportunity": "opportunities",
    "Task": "activities",
    "Event": "activities",
    "Campaign": "campaigns",
    "CampaignMember": "campaign_touches",
}

#: Salesforce history objects: the entity whose history they hold, and its shape.
SALESFORCE_HISTORY = {
    "OpportunityHistory": ("opportunities", "stage_entered"),
    "LeadHistory": ("people", "field_changes"),
    "ContactHistory": ("people", "field_changes"),
}

#: A Salesforce field read through a relationship (``UserRole.Name``) is not in an export.
_RELATIONSHIP = re.compile(r"\w+\.\w+")


def salesforce_columns(sobject: str, header: list[str]) -> dict[str, str]:
    """Canonical column to the export column, by the connector's default mapping: the first
    listed field the export has."""
    entity = SALESFORCE_OBJECTS[sobject]
    mapping = DEFAULT_ENTITIES[entity][sobject]
    present = set(header)
    columns: dict[str, str] = {}
    for canonical, fields in mapping.columns.items():
        names = [fields] if isinstance(fields, str) else list(fields)
        found = next((n for n in names if n in present and not _RELATIONSHIP.fullmatch(n)), None)
        if found is not None and canonical not in mapping.prefixes:
            columns[canonical] = found
    return columns


#: HubSpot column labels (as a UI export writes them) per entity: canonical to label(s).
HUBSPOT_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "opportunities": {
        "opportunity_id": ("Record ID", "Deal ID"),
        "name": ("Deal Name",),
        "stage": ("Deal Stage",),
        "pipeline": ("Pipeline",),
        "amount": ("Amount",),
        "close_date": ("Close Date",),
        "created_at": ("Create Date",),
        "owner_id": ("Deal owner", "Deal Owner"),
        "type": ("Deal Type",),
        "account_id": ("Associated Company IDs (Primary)", "Associated Company ID"),
    },
    "people": {
        "person_id": ("Record ID", "Contact ID"),
        "email": ("Email",),
        "first_name": ("First Name",),
        "last_name": ("Last Name",),
        "phone": ("Phone Number",),
        "lifecycle_stage": ("Lifecycle Stage",),
        "status": ("Lead Status",),
        "owner_id": ("Contact owner", "Contact Owner"),
        "created_at": ("Create Date",),
        "country": ("Country/Region", "Country"),
        "account_id": ("Associated Company IDs (Primary)", "Associated Company ID"),
        "mql_at": ("Became a Marketing Qualified Lead Date",),
        "utm_source": ("UTM Source", "utm_source"),
        "utm_medium": ("UTM Medium", "utm_medium"),
        "utm_campaign": ("UTM Campaign", "utm_campaign"),
        "utm_term": ("UTM Term", "utm_term"),
        "utm_content": ("UTM Content", "utm_content"),
    },
    "accounts": {
        "account_id": ("Record ID", "Company ID"),
        "name": ("Company name", "Company Name"),
        "domain": ("Company Domain Name", "Website URL"),
        "industry": ("Industry",),
        "employees": ("Number of Employees",),
        "annual_revenue": ("Annual Revenue",),
        "country": ("Country/Region", "Country"),
        "owner_id": ("Company owner", "Company Owner"),
        "created_at": ("Create Date",),
    },
}

#: A HubSpot "date entered" column: the stage label and the pipeline label.
HUBSPOT_DATE_ENTERED = re.compile(r'^Date entered "?(?P<stage>.+?) \((?P<pipeline>.+)\)"?$')

#: Generic exports: canonical column to other names it often has (compared normalised:
#: lower case, letters and digits only).
GENERIC_SYNONYMS: dict[str, tuple[str, ...]] = {
    "opportunity_id": ("dealid", "opportunityid", "id"),
    "person_id": ("leadid", "contactid", "personid", "id"),
    "account_id": ("accountid", "companyid"),
    "user_id": ("userid", "ownerid", "id"),
    "activity_id": ("activityid", "taskid", "id"),
    "campaign_id": ("campaignid", "id"),
    "stage": ("dealstage", "stagename", "stage"),
    "amount": ("amount", "value", "dealvalue"),
    "close_date": ("closedate", "closed"),
    "created_at": ("createdate", "createddate", "created", "createdat"),
    "owner_id": ("owner", "dealowner", "ownerid", "accountowner", "contactowner"),
    "name": ("name", "dealname", "accountname", "companyname", "campaignname"),
    "email": ("email", "emailaddress"),
    "lifecycle_stage": ("lifecyclestage", "lifecycle"),
    "domain": ("domain", "website"),
    "industry": ("industry",),
    "employees": ("employees", "numberofemployees"),
    "country": ("country", "billingcountry"),
}
