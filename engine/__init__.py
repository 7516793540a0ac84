"""policyconf.engine: loading products, validating claims, deciding them; and the faces over that.

The public API is the `policyconf` package itself (`from policyconf import load_products`).
Library modules here never import a face: the command line (`cli`), batches (`batch`) and
the HTTP service (`serve`) import the library, not the other way round; what they share is
library: reading claims (`claim_reader`) and writing JSON (`jsonio`).
"""
