"""The governed definitions, one module each: what a word of ``revgov.toml`` means.

The mapping layer, the rules, the KPIs and the demo generator all call these modules, so an
audit finding and a KPI can never disagree about what a stage, a qualified lead or a breach
of the SLA is:

==================  ===============================================================
``spelling``        the one case rule: two spellings name the same thing when they
                    agree trimmed and lowercased
``stages``          pipeline stages: canonical name, aliases, order, probability,
                    closed and won; the funnel (open then won stages)
``lifecycle``       lifecycle stages, the vendor map, their funnel order
``history``         which stage events belong to which record and field
``qualified``       the MQL, the sales-qualified person, the qualified deal
``icp``             segments and the ideal customer profile (firmographic criteria)
``routing``         the routing table: matching rule, expected owner or pool
``calendar``        the business calendar: hours, time zone, working days, holidays
``business_time``   business seconds between two columns, on any engine
``touches``         the first qualifying touch and the follow-up attempts
``sla``             the speed-to-lead SLA: its clock start, limits and status
``naming``          the campaign naming template: compile, and parse one name
==================  ===============================================================

Importing this package imports nothing else: the config loads ``spelling``, ``calendar`` and
``naming`` (which need no frame library) to validate ``revgov.toml``.
"""

from __future__ import annotations
