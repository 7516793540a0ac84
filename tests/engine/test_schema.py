"""The JSON Schemas: valid Draft 2020-12, and the patch schema in step with the product schema."""
import jsonschema

import schemas
from policyconf.engine.schema import PATCH_SCHEMA, PRODUCT_SCHEMA, without_required


def test_schemas_are_valid_draft_2020_12():
    for name in ("product.schema.json", "product-patch.schema.json", "tests.schema.json"):
        jsonschema.Draft202012Validator.check_schema(schemas.load(name))


def test_patch_schema_is_the_product_schema_without_nested_required():
    generated = dict(without_required(PRODUCT_SCHEMA), required=PRODUCT_SCHEMA["required"])
    shipped = dict(PATCH_SCHEMA)
    for key in ("$id", "title", "description"):
        shipped.pop(key)
        generated.pop(key)
    assert shipped == generated, "regenerate schemas/product-patch.schema.json from product.schema.json"
