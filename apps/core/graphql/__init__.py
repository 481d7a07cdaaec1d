"""The project's one GraphQL layer, served at ``/graphql/`` on every host (strawberry-graphql-django).

Apps contribute, the layer assembles. Each app may ship ``graphql.py`` with
``QUERIES``, a list of strawberry types whose fields become fields of the root
``Query`` (the way ``nimbus/temporal.py`` collects ``WORKFLOWS``); ``core``
cannot import the apps above it, so it finds them through the app registry.

* ``schema``: collecting the apps' query types and building the schema with
  its limits (depth, aliases, tokens), error masking and introspection only
  for a signed-in caller;
* ``views``: the HTTP endpoint, authenticated by the same classes as the REST
  API (API tokens, JWT, the session with CSRF on POST);
* ``permissions``: what resolvers call to ask ``apps.core.authorization``,
  turning its answers into GraphQL errors with a ``code``;
* ``errors``: those errors.

There are no mutations yet: writes go through the REST API and the pages.
"""
