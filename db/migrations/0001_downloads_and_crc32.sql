CREATE TABLE `downloads` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`route` text NOT NULL,
	`name` text,
	`file_id` integer,
	`status` integer NOT NULL,
	`bytes_sent` integer NOT NULL,
	`expected_bytes` integer,
	`outcome` text NOT NULL,
	`started_at` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	FOREIGN KEY (`file_id`) REFERENCES `files`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `downloads_started_at_idx` ON `downloads` (`started_at`,`id`);--> statement-breakpoint
CREATE INDEX `downloads_file_id_started_at_idx` ON `downloads` (`file_id`,`started_at`,`id`);--> statement-breakpoint
ALTER TABLE `files` ADD `crc32` integer;