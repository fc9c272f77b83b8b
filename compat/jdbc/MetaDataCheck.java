// DatabaseMetaData through PgJDBC: getTables and getColumns of one table,
// getPrimaryKeys and getImportedKeys; prints lines that compat/test_jdbc.py
// compares between PostgreSQL and litewire.
import java.sql.*;

public class MetaDataCheck {
    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://" + args[0] + ":" + args[1] + "/postgres";
        String table = args[2];
        try (Connection c = DriverManager.getConnection(url, "postgres", "")) {
            try (Statement st = c.createStatement()) {
                st.execute("CREATE TABLE " + table + "_p (id serial PRIMARY KEY)");
                st.execute("CREATE TABLE " + table + " (id bigserial PRIMARY KEY, name varchar(20) NOT NULL DEFAULT 'x', "
                    + "amount numeric(8,2), at timestamptz, ok boolean, p_id int REFERENCES " + table + "_p (id))");
            }
            DatabaseMetaData md = c.getMetaData();
            StringBuilder tables = new StringBuilder();
            try (ResultSet rs = md.getTables(null, "public", table + "%", new String[] {"TABLE"})) {
                while (rs.next()) {
                    tables.append(rs.getString("TABLE_NAME")).append(':').append(rs.getString("TABLE_TYPE")).append(';');
                }
            }
            System.out.println("tables=" + tables);
            StringBuilder columns = new StringBuilder();
            try (ResultSet rs = md.getColumns(null, "public", table, "%")) {
                while (rs.next()) {
                    columns.append(rs.getString("COLUMN_NAME")).append(':').append(rs.getString("TYPE_NAME"))
                        .append(':').append(rs.getInt("DATA_TYPE")).append(':').append(rs.getInt("COLUMN_SIZE"))
                        .append(':').append(rs.getInt("DECIMAL_DIGITS")).append(':').append(rs.getString("IS_NULLABLE"))
                        .append(':').append(rs.getString("IS_AUTOINCREMENT")).append(';');
                }
            }
            System.out.println("columns=" + columns);
            StringBuilder keys = new StringBuilder();
            try (ResultSet rs = md.getPrimaryKeys(null, "public", table)) {
                while (rs.next()) {
                    keys.append(rs.getString("COLUMN_NAME")).append(':').append(rs.getString("PK_NAME")).append(';');
                }
            }
            System.out.println("primary=" + keys);
            StringBuilder imported = new StringBuilder();
            try (ResultSet rs = md.getImportedKeys(null, "public", table)) {
                while (rs.next()) {
                    imported.append(rs.getString("PKTABLE_NAME")).append('.').append(rs.getString("PKCOLUMN_NAME"))
                        .append("<-").append(rs.getString("FKCOLUMN_NAME")).append(';');
                }
            }
            System.out.println("imported=" + imported);
            try (Statement st = c.createStatement()) {
                st.execute("DROP TABLE " + table + ", " + table + "_p");
            }
        }
    }
}
