// A Lambda handler instrumented the way Datadog tells Node users to: wrapped with datadog-lambda-js's
// `datadog()` and sending custom distributions with its `sendDistributionMetric`. Run by
// aws-lambda-ric inside lastcall-sandbox (tests/e2e/datadog_lambda_js_test.cpp). With
// /opt/extensions/datadog-agent present the library sends each sample over DogStatsD to
// 127.0.0.1:8125 and, with DD_LOCAL_TESTING=true, POSTs 127.0.0.1:8124/lambda/flush at the end of
// every invocation.
// event: {"probe":"p1","values":[12.5,30]} → one sample per value, one log line.
'use strict';
const { datadog, sendDistributionMetric } = require('datadog-lambda-js');

async function handler(event, context) {
  const values = Array.isArray(event.values) ? event.values : [];
  for (const v of values) {
    sendDistributionMetric('lastcall.e2e.checkout.latency', v, 'route:/checkout',
      `probe:${event.probe}`);
  }
  console.log(`e2e-handler ${event.probe} sent ${values.length} samples in ${context.awsRequestId}`);
  return { ok: true, probe: event.probe, request_id: context.awsRequestId };
}

exports.handler = datadog(handler);
