import * as tf from '@tensorflow/tfjs';
await tf.setBackend('cpu');
const m = tf.sequential(); m.add(tf.layers.dense({inputShape:[3],units:3,activation:'softmax'}));
m.compile({optimizer:'adam', loss:'categoricalCrossentropy', metrics:['accuracy','mse']});
console.log(m.metricsNames);
const x = tf.randomNormal([20,3]); const y = tf.oneHot(tf.tensor1d([0,1,2,0,1,2,0,1,2,0,1,2,0,1,2,0,1,2,0,1],'int32'),3);
const h = await m.fit(x,y,{epochs:1, batchSize:8, validationSplit:0.2, callbacks:[{onBatchEnd:(b,l)=>console.log('b',b,l), onEpochEnd:(e,l)=>console.log('e',e,l)}]});
console.log(h.history);
