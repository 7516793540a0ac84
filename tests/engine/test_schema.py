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



def test_references_looked_up_once_check_as_jsonschemas_own_ref():
    """engine.schema keeps each `$ref` lookup; the problems found (and the keys missing) are those of
    jsonschema's own `$ref`, for every product file of the repository, valid and broken, checked
    both whole and as a patch."""
    import pathlib

    from jsonschema import validators

    from policyconf.engine import schema
    from policyconf.engine.errors import ProductError
    from policyconf.engine.yaml_reader import load_document

    root = pathlib.Path(__file__).resolve().parents[2]
    assert schema._VALIDATOR.VALIDATORS["$ref"] is not schema.Validator.VALIDATORS["$ref"]   # kept lookups
    documents = []
    for folder in ("products", "tests/fixtures/products", "tests/corpus"):
        for path in sorted((root / folder).rglob("*.yaml")):
            try:
                document = load_document(path.read_text(encoding="utf-8"), str(path))
            except (ProductError, UnicodeDecodeError):
                continue
            if isinstance(document.data, dict):
                documents.append(document)

    def checked():
        return [(schema.check(document.data, document, patch), schema.missing_keys(document.data))
                for document in documents for patch in (False, True)]
    cached = checked()
    stock = validators.extend(jsonschema.Draft202012Validator, {"pattern": schema._pattern})
    kept = schema._VALIDATOR, schema._PATCH_VALIDATOR
    try:
        schema._VALIDATOR, schema._PATCH_VALIDATOR = stock(PRODUCT_SCHEMA), stock(PATCH_SCHEMA)
        assert cached == checked()
    finally:
        schema._VALIDATOR, schema._PATCH_VALIDATOR = kept
    assert len(documents) > 50 and sum(bool(problems) for problems, _ in cached) > 20


def test_two_schemas_with_one_id_never_share_a_kept_lookup():
    """Each shipped validator keeps its own `$ref` lookups: a schema that differs under the same
    `$id` (a variant made in memory) is checked against its own definitions."""
    from policyconf.engine import schema

    first = {"$id": "https://example.test/s.json", "$defs": {"d": {"type": "string"}},
             "properties": {"d": {"$ref": "#/$defs/d"}}}
    second = {**first, "$defs": {"d": {"type": "integer"}}}
    assert [e.message for e in schema.shipped_validator(first).iter_errors({"d": 5})] == ["5 is not of type 'string'"]
    assert [e.message for e in schema.shipped_validator(second).iter_errors({"d": 5})] == []
    assert [e.message for e in schema.shipped_validator(second).iter_errors({"d": "x"})] == ["'x' is not of type 'integer'"]
