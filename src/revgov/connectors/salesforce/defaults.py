"""The default mapping: which Salesforce objects make each canonical entity, field by field.

A source overrides any of it key by key (see :mod:`.settings`); docs/salesforce.md prints this
table. Fields listed as ``optional`` exist only in some orgs (multi-currency, newer API
versions): their absence is noted as info instead of a field-level-security warning.
"""

from __future__ import annotations

from revgov.connectors.salesforce.settings import ObjectMapping

__all__ = ["DEFAULT_ENTITIES", "STANDARD_KEY_PREFIXES"]

#: Key prefixes of standard objects, used when the org's object list does not say.
STANDARD_KEY_PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "Lead": "00Q",
    "Opportunity": "006",
    "User": "005",
    "Group": "00G",
    "Campaign": "701",
}

_TASK_TYPES = {
    "Call": "call",
    "Email": "email",
    "ListEmail": "email",
    "LinkedIn": "task",
    "Cadence": "task",
    "Task": "task",
}

#: Canonical entity to its objects, in the order they are read.
DEFAULT_ENTITIES: dict[str, dict[str, ObjectMapping]] = {
    "users": {
        "User": ObjectMapping(
            columns={
                "user_id": "Id",
                "name": "Name",
                "email": "Email",
                "team": "Department",
                "role": "UserRole.Name",
                "manager_id": "ManagerId",
                "is_active": "IsActive",
                "timezone": "TimeZoneSidKey",
            },
        ),
    },
    "accounts": {
        "Account": ObjectMapping(
            columns={
                "account_id": "Id",
                "name": "Name",
                "domain": "Website",
                "industry": "Industry",
                "employees": "NumberOfEmployees",
                "annual_revenue": "AnnualRevenue",
                "country": "BillingCountry",
                "owner_id": "OwnerId",
                "parent_account_id": "ParentId",
                "created_at": "CreatedDate",
            },
        ),
    },
    "people": {
        "Lead": ObjectMapping(
            columns={
                "person_id": "Id",
                "email": "Email",
                "phone": "Phone",
                "first_name": "FirstName",
                "last_name": "LastName",
                "title": "Title",
                "company": "Company",
                "status": "Status",
                "owner_id": "OwnerId",
                "lead_source": "LeadSource",
                "country": "Country",
                "industry": "Industry",
                "employees": "NumberOfEmployees",
                "is_converted": "IsConverted",
                "converted_at": "ConvertedDate",
                "converted_opportunity_id": "ConvertedOpportunityId",
                "account_id": "ConvertedAccountId",
                "created_at": "CreatedDate",
            },
            constants={"kind": "lead"},
        ),
        "Contact": ObjectMapping(
            columns={
                "person_id": "Id",
                "email": "Email",
                "phone": "Phone",
                "first_name": "FirstName",
                "last_name": "LastName",
                "title": "Title",
                "account_id": "AccountId",
                "company": "Account.Name",
                "owner_id": "OwnerId",
                "lead_source": "LeadSource",
                "country": "MailingCountry",
                "created_at": "CreatedDate",
            },
            constants={"kind": "contact"},
        ),
    },
    "opportunities": {
        "Opportunity": ObjectMapping(
            columns={
                "opportunity_id": "Id",
                "name": "Name",
                "account_id": "AccountId",
                "stage": "StageName",
                "amount": "Amount",
                "currency": "CurrencyIsoCode",
                "close_date": "CloseDate",
                "created_at": "CreatedDate",
                "is_closed": "IsClosed",
                "is_won": "IsWon",
                "owner_id": "OwnerId",
                "type": "Type",
                "lead_source": "LeadSource",
                "primary_campaign_id": "CampaignId",
                "stage_entered_at": "LastStageChangeDate",
            },
            optional=["CurrencyIsoCode", "LastStageChangeDate"],
        ),
    },
    "stage_events": {
        "OpportunityHistory": ObjectMapping(
            history="entered",
            record_entity="opportunities",
            field="stage",
            columns={
                "record_id": "OpportunityId",
                "to_value": "StageName",
                "changed_at": "CreatedDate",
                "changed_by": "CreatedById",
            },
        ),
        "OpportunityFieldHistory": ObjectMapping(
            history="changes",
            record_entity="opportunities",
            fields={"StageName": "stage", "Owner": "owner"},
            columns={
                "record_id": "OpportunityId",
                "field": "Field",
                "from_value": "OldValue",
                "to_value": "NewValue",
                "changed_at": "CreatedDate",
                "changed_by": "CreatedById",
                "data_type": "DataType",
            },
        ),
        "LeadHistory": ObjectMapping(
            history="changes",
            record_entity="people",
            fields={"Status": "status", "Owner": "owner"},
            columns={
                "record_id": "LeadId",
                "field": "Field",
                "from_value": "OldValue",
                "to_value": "NewValue",
                "changed_at": "CreatedDate",
                "changed_by": "CreatedById",
                "data_type": "DataType",
            },
        ),
    },
    "activities": {
        "Task": ObjectMapping(
            columns={
                "activity_id": "Id",
                "type": "TaskSubtype",
                "person_id": "WhoId",
                "opportunity_id": "WhatId",
                "account_id": ["AccountId", "WhatId"],
                "owner_id": "OwnerId",
                "occurred_at": ["CompletedDateTime", "CreatedDate"],
                "outcome": "CallDisposition",
            },
            values={"type": _TASK_TYPES},
            prefixes={
                "person_id": ["Lead", "Contact"],
                "opportunity_id": ["Opportunity"],
                "account_id": ["Account"],
            },
            optional=["CompletedDateTime", "TaskSubtype"],
        ),
        "Event": ObjectMapping(
            columns={
                "activity_id": "Id",
                "person_id": "WhoId",
                "opportunity_id": "WhatId",
                "account_id": ["AccountId", "WhatId"],
                "owner_id": "OwnerId",
                "occurred_at": ["StartDateTime", "ActivityDateTime", "CreatedDate"],
            },
            constants={"type": "meeting"},
            prefixes={
                "person_id": ["Lead", "Contact"],
                "opportunity_id": ["Opportunity"],
                "account_id": ["Account"],
            },
        ),
    },
    "campaigns": {
        "Campaign": ObjectMapping(
            columns={
                "campaign_id": "Id",
                "name": "Name",
                "channel": "Type",
                "cost": "ActualCost",
                "start_date": "StartDate",
                "end_date": "EndDate",
                "owner_id": "OwnerId",
                "created_at": "CreatedDate",
            },
        ),
    },
    "campaign_touches": {
        "CampaignMember": ObjectMapping(
            columns={
                "touch_id": "Id",
                "person_id": ["LeadOrContactId", "ContactId", "LeadId"],
                "campaign_id": "CampaignId",
                "touched_at": "CreatedDate",
            },
            optional=["LeadOrContactId"],
        ),
    },
    "pipeline_stages": {
        "OpportunityStage": ObjectMapping(
            columns={
                "stage": ["ApiName", "MasterLabel"],
                "order": "SortOrder",
                "probability": "DefaultProbability",
                "is_closed": "IsClosed",
                "is_won": "IsWon",
            },
            percent=["probability"],
            optional=["ApiName"],
        ),
    },
}


def mapping_table() -> str:
    """The default mapping as a Markdown table (docs/salesforce.md embeds it; a test checks)."""
    rows = ["| entity | object | canonical column | Salesforce field(s) |", "|---|---|---|---|"]
    for entity, objects in DEFAULT_ENTITIES.items():
        for sobject, mapping in objects.items():
            for target, fields in mapping.columns.items():
                names = [fields] if isinstance(fields, str) else fields
                shown = " or ".join(f"`{n}`" for n in names)
                if target in mapping.prefixes:
                    shown += " (if it is a " + " or ".join(mapping.prefixes[target]) + ")"
                if target in (mapping.percent or ()):
                    shown += " ÷ 100"
                rows.append(f"| {entity} | {sobject} | `{target}` | {shown} |")
            for target, value in mapping.constants.items():
                rows.append(f"| {entity} | {sobject} | `{target}` | constant `{value}` |")
            if mapping.history == "changes":
                fields_ = ", ".join(f"`{k}` → `{v}`" for k, v in mapping.fields.items())
                rows.append(f"| {entity} | {sobject} | `field` | {fields_} |")
            elif mapping.history == "entered":
                rows.append(f"| {entity} | {sobject} | `field` | constant `{mapping.field}` |")
    return "\n".join(rows)
