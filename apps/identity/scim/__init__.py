"""SCIM 2.0 (RFC 7643/7644) at ``/scim/v2/`` on every tenant host: the tenant's IdP provisions its users and groups.

Written here rather than on django-scim2's views and adapters: what that library
gets wrong for Nimbus (see docs/design/identity-research.md §5: counting by
iterating, no sorting or ETags, value-path PATCH answered 501, no ``scimType``,
string booleans refused, Group POST dropping members, absolute ResourceType
endpoints, the full RFC schema published) would have needed most of it
overridden. Only its filter grammar is used, through ``scim2-filter-parser``
(the parser django-scim2 itself uses); Nimbus turns the parse tree into ORM
queries (``filters``).

Modules: ``errors`` (the SCIM error envelope), ``schemas`` (the trimmed Schemas,
ResourceTypes and ServiceProviderConfig Nimbus publishes), ``filters`` (filter
and sort to querysets), ``patch`` (PATCH operations applied to a resource's
writable attributes), ``resources`` (Nimbus rows to SCIM JSON and back),
``services`` (the writes, with their audit events), ``views`` and ``urls``.
"""
