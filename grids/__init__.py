"""The domain: models, store, routing, workflow, patrol and scoring."""
