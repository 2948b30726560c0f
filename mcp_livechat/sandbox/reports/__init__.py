"""Reports API v3.6, computed from the sandbox's own chats
(https://platform.text.com/docs/data-reporting/reports-api).

``POST /v3.6/reports/<resource>/<action>`` with a JSON body, or ``GET`` with the same
parameters in the query string (``filters.from=...&filters.agents.values=a&...``). Same
authentication (Bearer token or Basic PAT), region rule (``misdirected_request``), error
envelope and faults as the other APIs; every method needs the ``reports_read`` scope. Faults
and request stats name a method ``reports/<resource>/<action>`` (e.g.
``reports/chats/total_chats``).

Methods: chats ``total_chats``, ``duration``, ``response_time``, ``first_response_time``,
``ratings``, ``ranking``, ``engagement``, ``greetings_conversion``, ``forms``, ``tags``,
``groups``, ``queued_visitors``, ``queued_visitors_left``; agents ``performance``,
``availability``; customers ``unique_visitors``; tags ``chat_usage``.

Modules: ``params`` (distribution, time zone, time range, GET query strings), ``buckets``
(distribution keys), ``filters`` / ``predicates`` / ``forms`` (which threads count), ``facts``
(per-thread metrics), ``chats`` / ``agents`` / ``greetings_forms`` / ``visitors`` (the reports),
``availability`` (the derived login history), ``endpoint`` (HTTP).
"""

from __future__ import annotations

from .endpoint import reports_endpoint

__all__ = ["reports_endpoint"]
