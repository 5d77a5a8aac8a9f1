// Sends one of each DogStatsD type through the real hot-shots client to 127.0.0.1:<port>, then
// exits. The burst must not straddle a 10 s aggregation window (conventions.md §16a), and Node's own
// start-up takes a variable time, so the alignment happens here, once Node is running: the burst
// starts only with >= 2 s left in the current window, else just after the next one opens.
// usage: node hotshots_send.js PORT
'use strict';
const StatsD = require('hot-shots');

const port = Number(process.argv[2]);
const client = new StatsD({
  host: '127.0.0.1',
  port,
  globalTags: { env: 'e2e' },
  errorHandler: (err) => {
    console.error('hot-shots error:', err.message);
    process.exitCode = 1;
  },
});

function sendBurst() {
  client.increment('hs.counter', 1, { route: '/a' });
  client.increment('hs.counter', 2, { route: '/a' });
  client.gauge('hs.gauge', 12.5);
  client.gauge('hs.gauge', 7);
  client.histogram('hs.histo', 10);
  client.histogram('hs.histo', 30);
  client.timing('hs.timer', 120);
  client.set('hs.set', 'alice');
  client.set('hs.set', 'bob');
  client.set('hs.set', 'alice');
  client.distribution('hs.dist', 1);
  client.distribution('hs.dist', 3);
  client.close((err) => {
    if (err) {
      console.error('close failed:', err.message);
      process.exit(1);
    }
    console.log('sent');
  });
}

const intoWindowMs = Date.now() % 10000;
setTimeout(sendBurst, intoWindowMs < 8000 ? 0 : 10000 - intoWindowMs + 50);
