/**
 * Where greco's events go and who sends them: the EventBridge bus and the `source` of each
 * plane's events. The detail-types and details are each plane's own (docs/events.md).
 *
 * @module
 */

/**
 * The EventBridge bus greco publishes to when none is configured (env `GRECO_EVENT_BUS_NAME`,
 * context `greco:eventBusName`): `greco`, as the design names it.
 */
export const defaultEventBusName = 'greco';

/** The `source` of greco's events, one per publisher. */
export const EventSources = {
  /** Deployment events (`Deployment Started`, ..., `Epoch Activated`), from the deployment steps. */
  deployments: 'greco.deployments',
  /** Hot-path events (`Function Suspended`, `Function Started`), from the hot-path controller. */
  hotPath: 'greco.hotpath',
} as const;
