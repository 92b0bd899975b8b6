#!/usr/bin/env node
// Notification as its own process (a container's entry, or started by the demo's driver):
//   node dist/main.js --transport rabbitmq --db postgres   (flags: see @herald/demo-kit's USAGE)
import { runServiceProcess } from '@herald/demo-kit';
import { createNotificationService } from './index.js';

await runServiceProcess('notification', createNotificationService);
