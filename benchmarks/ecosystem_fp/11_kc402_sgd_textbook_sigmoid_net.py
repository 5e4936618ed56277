# KC402 false positive. Pattern 3 (issue 16): a fixed threshold that says "diverges".
# Why false: SGD at 3.0 on a 784-30-10 network with sigmoid hidden units is the classic
# textbook MNIST setting and trains; this is the benchmark's *fixed* program (the
# accepted answer kept the rate and added the activations). Without the activations the
# same rate does diverge (measured), so the rule needs the model, not a number.
# Seen in: Wardat-ISU/DeepLocalize Benchmark/StackOverflow/48385830 Correct Code.
from tensorflow import keras

(images, digits), _ = keras.datasets.mnist.load_data()
images = images.reshape(60000, 784).astype("float32") / 255
targets = keras.utils.to_categorical(digits, 10)

model = keras.Sequential(
    [
        keras.Input(shape=(784,)),
        keras.layers.Dense(30, activation="sigmoid"),
        keras.layers.Dense(10, activation="softmax"),
    ]
)
model.compile(
    optimizer=keras.optimizers.SGD(learning_rate=3.0),
    loss="categorical_crossentropy",
    metrics=["accuracy"],
)
model.fit(images, targets, batch_size=10, epochs=1)
