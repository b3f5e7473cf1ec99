"""The edge gateway: real devices (OCPP chargers, SunSpec Modbus inverters and meters) to signed Readings.

Protocol adapters (:mod:`.ocpp_csms`, :mod:`.sunspec`) turn each device's cumulative energy register
into samples; :mod:`.meter` turns samples into Readings; :mod:`.spool` stores them signed, durably,
before a charger is answered; :mod:`.poster` sends them to the ingest API until acknowledged.
"""
