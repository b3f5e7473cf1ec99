"""The investor portal (``rwa serve``): a read-only web app and JSON API over deployed assets.

``data`` follows the chain through the event indexer into snapshots, ``twin`` adds the digital
twin's band and forecast, ``api`` serves them as JSON, ``app`` the pages, ``server`` runs uvicorn.
"""
