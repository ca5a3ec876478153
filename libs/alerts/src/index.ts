export { AlertDispatcher, type AlertDispatcherOptions } from './alert-dispatcher.js';
export { AlertDeliveryError, alertSummary, type Alert, type AlertSink, type AlertType } from './alert-sink.port.js';
export { createAlerting, DEAD_LETTER_FILE, type AlertingConfig } from './alert-sinks.js';
export { PARKED_EVENT_ALERT_KIND, parkedEventAlert } from './parked-event-alert.js';
export { SlackAlertSink } from './slack.alert-sink.js';
export { SseAlertSink } from './sse.alert-sink.js';
export { SIGNATURE_HEADER, signBody, WebhookAlertSink } from './webhook.alert-sink.js';
export {
  ALERTING_VARIABLES,
  alertingConfigFromEnvironment,
  alertingProblems,
  alertingSettings,
} from './alerting-config.js';
