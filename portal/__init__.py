"""The guidepress portal: a Django site above the engine, where a central team publishes
guides and each establishment brands, previews, approves and downloads its own kit.

It calls `guidepress.kit` and the engine's validation; it never reaches into the stages.
"""
