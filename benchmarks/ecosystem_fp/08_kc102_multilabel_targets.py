# KC102 false positive. Pattern 3 (issue 16): a regression asserted without evidence.
# Why false: make_multilabel_classification yields multi-hot 0/1 rows, not continuous
# targets. The model is wrong (softmax on multi-label targets needs sigmoid units), but
# KC102's diagnosis (regression, use a linear output) is not what is wrong with it.
# Seen in: Wardat-ISU/DeepLocalize Benchmark/StackOverflow/38648195 Buggy Code.
from sklearn.datasets import make_multilabel_classification
from tensorflow import keras

features, tags = make_multilabel_classification(n_samples=500, n_features=10, n_classes=3)

model = keras.Sequential(
    [
        keras.Input(shape=(10,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(3, activation="softmax"),
    ]
)
model.compile(loss="mean_squared_error", optimizer="sgd")
model.fit(features, tags, epochs=2)
