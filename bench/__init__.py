"""`make bench`: the ad server against a reference Flask app, driven by wrk on loopback."""
