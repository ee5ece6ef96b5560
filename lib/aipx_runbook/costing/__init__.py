"""Monthly cost estimate per environment, before anything is applied: one concern per module.

- ``assumptions``: environments/<env>/cost-assumptions.toml, checked (the usage neither tfvars nor a plan knows)
- ``model``: usage, line items, scenarios and the estimate; ``price`` turns usage into line items
- ``usage``: the priced quantities of each kind of resource (shared by the two sources below)
- ``sizing``: usage from an environment's sizing (aws.tfvars)
- ``plan``: usage from a saved plan (``terraform show -json``)
- ``estimates``: one environment's estimate from either source, with its price table and assumptions
- ``seed``: what the seed README says each environment costs, and why an estimate differs
- ``report``: the Reports (tables, notes, chart) and the JSON of estimates

Prices come from the dated price table (:mod:`aipx_runbook.prices`); charts from :mod:`aipx_runbook.charts`.
"""
