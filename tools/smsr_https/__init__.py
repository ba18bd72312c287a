"""A test SM-SR over HTTPS (GP Amd B remote administration server; SGP.02 §2.4.4, ES5 over
HTTPS), written from the specifications independently of the card's code (it never imports
``euicc.ota.scp81``): PSK-TLS from python-mbedtls' server context, HTTP from h11."""
