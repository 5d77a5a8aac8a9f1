// A minimal HTTP service for examples/Dockerfile: one log line per request, a DogStatsD count
// through lastcall on 127.0.0.1:8125, and a clean exit on SIGTERM (forwarded by lastcall).
const http = require('http');
const dgram = require('dgram');

const statsd = dgram.createSocket('udp4');
const port = Number(process.env.PORT || 8080);

const server = http.createServer((req, res) => {
  console.log(JSON.stringify({ level: 'info', msg: 'request', path: req.url }));
  statsd.send(`checkout.requests:1|c|#path:${req.url}`, Number(process.env.DD_DOGSTATSD_PORT || 8125), '127.0.0.1');
  res.end('ok\n');
});
server.listen(port, () => console.log(`listening on ${port}`));
process.on('SIGTERM', () => {
  console.log('SIGTERM: closing');
  server.close(() => { statsd.close(); process.exit(0); });
});
