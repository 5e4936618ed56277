"""The token ids that reach each Embedding (KC114, and its dynamic experiment)."""

from collections.abc import Iterator

from kerascheck.ir import Count, LayerSpec, ModelSpec


def _input_layers(model: ModelSpec) -> list[int]:
    return [i for i, layer in enumerate(model.layers) if layer.class_name == "InputLayer"]


def _fed_by_input(model: ModelSpec) -> list[LayerSpec]:
    """The Embedding layers that the model's single input reaches directly."""
    if model.kind == "sequential":
        first = [layer for layer in model.layers if layer.class_name != "InputLayer"][:1]
        return [layer for layer in first if layer.class_name == "Embedding"]
    inputs = _input_layers(model)
    if model.kind != "functional" or len(inputs) != 1:
        return []
    fed = {consumer for producer, consumer in model.edges if producer == inputs[0]}
    return [model.layers[i] for i in sorted(fed) if model.layers[i].class_name == "Embedding"]


def _vectorized(model: ModelSpec) -> Iterator[tuple[LayerSpec, Count]]:
    """Embedding layers fed by a TextVectorization layer of the model that learnt its
    vocabulary (``adapt()``), with the bound of its ids."""
    layers = model.layers
    pairs = (
        [(i, i + 1) for i in range(len(layers) - 1)] if model.kind == "sequential" else model.edges
    )
    for producer, consumer in pairs:
        if consumer < 0 or layers[consumer].class_name != "Embedding":
            continue
        vectorizer = layers[producer]
        if vectorizer.class_name == "TextVectorization" and vectorizer.vocabulary is not None:
            yield layers[consumer], vectorizer.vocabulary


def embedding_ids(model: ModelSpec) -> Iterator[tuple[LayerSpec, Count, Count]]:
    """Each Embedding whose rows are known, with a bound of the ids that reach it: from a
    TextVectorization layer before it, then from each run's inputs (an Embedding the model's
    input feeds), in that order; an Embedding may come more than once."""
    for layer, ids in _vectorized(model):
        if layer.vocabulary is not None:
            yield layer, layer.vocabulary, ids
    fed = _fed_by_input(model)
    for run in model.runs:
        ids = run.x.ids_below
        if ids is None:
            continue
        for layer in fed:
            if layer.vocabulary is not None:
                yield layer, layer.vocabulary, ids
