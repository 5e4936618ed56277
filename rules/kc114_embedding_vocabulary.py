from collections.abc import Iterator

from kerascheck.ir import Count, Edit, Finding, Fix, LayerSpec, ModelSpec
from kerascheck.rule import Invalid, Rule, RuleContext, Valid
from kerascheck.rules._vocabulary import embedding_ids


class EmbeddingVocabulary(Rule):
    """Flags an `Embedding` whose `input_dim` is smaller than the token ids that reach it.

    The ids are followed from where they are made into the model's input: `imdb` / `reuters`
    `load_data(num_words=n)` (ids below n), `Tokenizer(num_words=n).texts_to_sequences`
    (ids below n), `Tokenizer()` without `num_words` (ids 1 to `len(word_index)`: the table
    needs `len(word_index) + 1` rows), `TextVectorization(max_tokens=n)` that learns its
    vocabulary with `adapt()`, applied to the texts or as the layer before the Embedding;
    through `pad_sequences`, `np.array` and `train_test_split`.
    """

    code = "KC114"
    relevant_names = frozenset()
    name = "embedding-vocabulary"
    experiment = "embedding-lookup"
    severity = "error"
    summary = "Embedding input_dim is smaller than the token ids that reach it."
    why = """
        An Embedding has one row per id, 0 to input_dim - 1. On CPU the first batch with a
        larger id raises `InvalidArgumentError: indices[0,5] = 10 is not in [0, 10)`
        (measured, Keras 3.15 / TF 2.21), possibly deep into training; on GPU TensorFlow
        documents that the lookup silently returns zeros, so those words carry no
        information. Tokenizer ids start at 1 (0 is padding), so `len(word_index)` rows are
        always one short.
    """
    example = """
        tokenizer = Tokenizer()
        tokenizer.fit_on_texts(texts)
        x = pad_sequences(tokenizer.texts_to_sequences(texts), maxlen=100)
        model = Sequential([Embedding(len(tokenizer.word_index), 64), LSTM(32), Dense(1)])
        model.fit(x, y)
    """
    use_instead = """
        model = Sequential([Embedding(len(tokenizer.word_index) + 1, 64), LSTM(32), Dense(1)])
    """
    fix_safety = """
        Unsafe: the fix grows `input_dim` to the vocabulary (`+ 1`, or the `num_words`
        number); the embedding table changes shape, so weights saved from the old model no
        longer load.
    """
    limitations = """
        `Tokenizer(num_words=n)` and an adapted `TextVectorization(max_tokens=n)` bound the
        ids by n; a corpus with fewer distinct words gives smaller ids, and then an Embedding
        between its vocabulary and n runs (the finding then names a table smaller than the
        vocabulary the code asked for). A vocabulary given as a list (`vocabulary=`,
        `set_vocabulary`), ids built by hand, `imdb` / `reuters` without `num_words`, an
        `adapt()` after the model is built, and models with several inputs are not checked.
    """
    invalid = (
        Invalid(
            """
            import keras
            (x_train, y_train), _ = keras.datasets.imdb.load_data(num_words=10000)
            x_train = keras.utils.pad_sequences(x_train, maxlen=200)
            model = keras.Sequential([keras.layers.Embedding(5000, 32), keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(x_train, y_train)
            """,
            line=4,
            col=50,
            fixed="""
            import keras
            (x_train, y_train), _ = keras.datasets.imdb.load_data(num_words=10000)
            x_train = keras.utils.pad_sequences(x_train, maxlen=200)
            model = keras.Sequential([keras.layers.Embedding(10000, 32), keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(x_train, y_train)
            """,
        ),
        Invalid(
            """
            from tensorflow.keras.preprocessing.text import Tokenizer
            from tensorflow.keras.preprocessing.sequence import pad_sequences
            from tensorflow.keras import layers, models
            tokenizer = Tokenizer()
            tokenizer.fit_on_texts(texts)
            x = pad_sequences(tokenizer.texts_to_sequences(texts), maxlen=100)
            model = models.Sequential([layers.Embedding(len(tokenizer.word_index), 64), layers.LSTM(32), layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(x, labels)
            """,
            line=7,
            fixed="""
            from tensorflow.keras.preprocessing.text import Tokenizer
            from tensorflow.keras.preprocessing.sequence import pad_sequences
            from tensorflow.keras import layers, models
            tokenizer = Tokenizer()
            tokenizer.fit_on_texts(texts)
            x = pad_sequences(tokenizer.texts_to_sequences(texts), maxlen=100)
            model = models.Sequential([layers.Embedding(len(tokenizer.word_index) + 1, 64), layers.LSTM(32), layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(x, labels)
            """,
        ),
        Invalid(
            """
            # The size goes through a name: still len(word_index), one row short.
            import numpy as np
            from tensorflow.keras.preprocessing.text import Tokenizer
            from tensorflow.keras.preprocessing.sequence import pad_sequences
            from tensorflow.keras import layers, Model, Input
            tok = Tokenizer(oov_token="<unk>")
            tok.fit_on_texts(train_texts)
            vocab_size = len(tok.word_index)
            x = np.array(pad_sequences(tok.texts_to_sequences(train_texts)))
            inp = Input((None,))
            h = layers.Embedding(input_dim=vocab_size, output_dim=50)(inp)
            out = layers.Dense(1, activation="sigmoid")(layers.GlobalMaxPooling1D()(h))
            model = Model(inp, out)
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(x, y)
            """,
            line=11,
            fixed="""
            # The size goes through a name: still len(word_index), one row short.
            import numpy as np
            from tensorflow.keras.preprocessing.text import Tokenizer
            from tensorflow.keras.preprocessing.sequence import pad_sequences
            from tensorflow.keras import layers, Model, Input
            tok = Tokenizer(oov_token="<unk>")
            tok.fit_on_texts(train_texts)
            vocab_size = len(tok.word_index)
            x = np.array(pad_sequences(tok.texts_to_sequences(train_texts)))
            inp = Input((None,))
            h = layers.Embedding(input_dim=vocab_size + 1, output_dim=50)(inp)
            out = layers.Dense(1, activation="sigmoid")(layers.GlobalMaxPooling1D()(h))
            model = Model(inp, out)
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(x, y)
            """,
        ),
        Invalid(
            """
            from keras.preprocessing.text import Tokenizer
            from keras.preprocessing.sequence import pad_sequences
            from keras.models import Sequential
            from keras.layers import Embedding, LSTM, Dense
            tokenizer = Tokenizer(num_words=20000)
            tokenizer.fit_on_texts(reviews)
            data = pad_sequences(tokenizer.texts_to_sequences(reviews), maxlen=300)
            model = Sequential()
            model.add(Embedding(10000, 128, input_length=300))
            model.add(LSTM(64))
            model.add(Dense(1, activation="sigmoid"))
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(data, labels, validation_split=0.2)
            """,
            line=9,
            flavour="tf2",
            fixed="""
            from keras.preprocessing.text import Tokenizer
            from keras.preprocessing.sequence import pad_sequences
            from keras.models import Sequential
            from keras.layers import Embedding, LSTM, Dense
            tokenizer = Tokenizer(num_words=20000)
            tokenizer.fit_on_texts(reviews)
            data = pad_sequences(tokenizer.texts_to_sequences(reviews), maxlen=300)
            model = Sequential()
            model.add(Embedding(20000, 128, input_length=300))
            model.add(LSTM(64))
            model.add(Dense(1, activation="sigmoid"))
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(data, labels, validation_split=0.2)
            """,
        ),
        Invalid(
            """
            import keras
            vectorize = keras.layers.TextVectorization(max_tokens=20000, output_sequence_length=200)
            vectorize.adapt(train_texts)
            model = keras.Sequential([vectorize, keras.layers.Embedding(10000, 64), keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1)])
            """,
            line=4,
            fixed="""
            import keras
            vectorize = keras.layers.TextVectorization(max_tokens=20000, output_sequence_length=200)
            vectorize.adapt(train_texts)
            model = keras.Sequential([vectorize, keras.layers.Embedding(20000, 64), keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1)])
            """,
        ),
        Invalid(
            """
            import keras
            vectorize = keras.layers.TextVectorization(max_tokens=5000)
            vectorize.adapt(texts)
            x = vectorize(texts)
            model = keras.Sequential([keras.layers.Embedding(1000, 16), keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(x, y)
            """,
            line=5,
            fixed="""
            import keras
            vectorize = keras.layers.TextVectorization(max_tokens=5000)
            vectorize.adapt(texts)
            x = vectorize(texts)
            model = keras.Sequential([keras.layers.Embedding(5000, 16), keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(x, y)
            """,
        ),
    )
    valid = (
        Valid(
            """
            from tensorflow.keras.preprocessing.text import Tokenizer
            from tensorflow.keras.preprocessing.sequence import pad_sequences
            from tensorflow.keras import layers, models
            tokenizer = Tokenizer()
            tokenizer.fit_on_texts(texts)
            x = pad_sequences(tokenizer.texts_to_sequences(texts), maxlen=100)
            model = models.Sequential([layers.Embedding(len(tokenizer.word_index) + 1, 64), layers.LSTM(32), layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(x, labels)
            """
        ),
        Valid(
            """
            from keras.preprocessing.text import Tokenizer
            from keras.preprocessing.sequence import pad_sequences
            from keras.models import Sequential
            from keras.layers import Embedding, LSTM, Dense
            MAX_WORDS = 20000
            tokenizer = Tokenizer(num_words=MAX_WORDS)
            tokenizer.fit_on_texts(reviews)
            data = pad_sequences(tokenizer.texts_to_sequences(reviews), maxlen=300)
            model = Sequential([Embedding(MAX_WORDS, 128), LSTM(64), Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(data, labels)
            """,
            flavour="tf2",
        ),
        Valid(
            """
            # num_words caps the ids below len(word_index): which is larger is not known.
            from tensorflow.keras.preprocessing.text import Tokenizer
            from tensorflow.keras.preprocessing.sequence import pad_sequences
            from tensorflow.keras import layers, models
            tokenizer = Tokenizer(num_words=5000)
            tokenizer.fit_on_texts(texts)
            x = pad_sequences(tokenizer.texts_to_sequences(texts))
            model = models.Sequential([layers.Embedding(len(tokenizer.word_index), 64), layers.LSTM(32), layers.Dense(1)])
            model.compile(loss="mse", optimizer="adam")
            model.fit(x, y)
            """
        ),
        Valid(
            """
            import keras
            (x_train, y_train), _ = keras.datasets.imdb.load_data(num_words=10000)
            x_train = keras.utils.pad_sequences(x_train, maxlen=200)
            model = keras.Sequential([keras.layers.Embedding(10000, 32), keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(x_train, y_train)
            """
        ),
        Valid(
            """
            # The ids go through a function the engine cannot see.
            import keras
            from preprocessing import remap_rare_words
            (x_train, y_train), _ = keras.datasets.imdb.load_data(num_words=10000)
            x_train = remap_rare_words(x_train, keep=5000)
            model = keras.Sequential([keras.layers.Embedding(5000, 32), keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(x_train, y_train)
            """
        ),
        Valid(
            """
            # imdb without num_words: its vocabulary is not in the code.
            import keras
            (x_train, y_train), _ = keras.datasets.imdb.load_data()
            model = keras.Sequential([keras.layers.Embedding(10000, 32), keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(keras.utils.pad_sequences(x_train), y_train)
            """
        ),
        Valid(
            """
            import keras
            vectorize = keras.layers.TextVectorization(max_tokens=20000, output_sequence_length=200)
            model = keras.Sequential([vectorize, keras.layers.Embedding(20000 + 1, 64), keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1)])
            """
        ),
        Valid(
            """
            # A vocabulary given as a list: 3 words, padding and OOV, ids below 5.
            import keras
            layer = keras.layers.TextVectorization(max_tokens=10, output_mode="int")
            layer.set_vocabulary(["baz", "bar", "foo"])
            model = keras.Sequential([layer, keras.layers.Embedding(5, 4)])
            """
        ),
        Valid(
            """
            # multi_hot output is not ids: no Embedding lookup of them.
            import keras
            vectorize = keras.layers.TextVectorization(max_tokens=20000, output_mode="multi_hot")
            model = keras.Sequential([vectorize, keras.layers.Embedding(100, 8), keras.layers.Flatten(), keras.layers.Dense(1)])
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        reported: set[int] = set()
        for layer, rows, ids in embedding_ids(model):
            if layer.position in reported or not rows.less_than(ids):
                continue
            reported.add(layer.position)
            yield self._finding(layer, rows, ids)

    def _finding(self, layer: LayerSpec, rows: Count, ids: Count) -> Finding:
        arg = layer.call.argument("input_dim", 0) if layer.call is not None else None
        span = arg.span if arg is not None else layer.span
        if rows.base is not None:
            message = (
                f"Embedding(input_dim={rows.what}) is {ids.offset - rows.offset} row(s) short: "
                f"the ids reaching it run up to {ids.what} - 1 (Tokenizer ids start at 1, 0 "
                f"is padding), and an id >= input_dim raises InvalidArgumentError on CPU and "
                f"looks up zeros on GPU; use input_dim={ids.what}"
            )
            edit = Edit(span, f" + {ids.offset - rows.offset}", mode="after")
            description = f"Add {ids.offset - rows.offset} to input_dim"
        else:
            message = (
                f"Embedding(input_dim={rows.value}) has rows for ids below {rows.value}, but "
                f"{ids.what} gives ids up to {ids.value - 1 if ids.value else '?'}: an id >= "
                f"input_dim raises InvalidArgumentError on CPU and looks up zeros on GPU; "
                f"use input_dim={ids.value}"
            )
            edit = Edit(span, str(ids.value))
            description = f"Use input_dim={ids.value}"
        fix = Fix(description, (edit,), safe=False) if arg is not None else None
        return self.finding(span, message, fix=fix)
